"""The torch-free runtime of exported bundles: ``load_bundle(path) -> Bundle``.

Imports only numpy, onnxruntime and tokenizers (pillow for image models; scikit-learn and skops
only for a TF-IDF bundle served from skops), so a server or a batch job can predict with a
bundle in an environment without torch, transformers or the training code::

    from launchml.runtime import load_bundle

    bundle = load_bundle("runs/shop/bundles/onnx-int8")
    bundle.predict(["where is my parcel?"])
"""

from launchml.runtime.bundle import BUNDLE_FILE, Bundle, is_bundle, load_bundle

__all__ = ["BUNDLE_FILE", "Bundle", "is_bundle", "load_bundle"]
