"""Reading a predict (or explain) request into model inputs, with every limit checked and named.

A request is JSON (``{"texts": [...]}`` or ``{"images": ["<base64>", ...]}``) or a multipart
form (``images`` file parts, ``texts`` fields, an optional ``top_k`` field). Texts come out as a
list of strings; images decoded to the model's ``(N, H, W, C)`` ``uint8`` array, converted and
resized exactly as the training images were.
"""

from __future__ import annotations

import base64
import binascii
import io
import warnings
from typing import Any

import numpy as np
from fastapi import Request
from PIL import Image, UnidentifiedImageError
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException

from launchml.data.images import image_to_array
from launchml.serve.errors import (
    InvalidRequestError,
    LimitError,
    TooLargeError,
    UnsupportedMediaError,
)
from launchml.serve.schemas import ExplainRequest, PredictRequest
from launchml.serve.settings import ServeSettings
from launchml.serve.state import LoadedModel

# An image file of a few MB can declare a huge canvas (a decompression bomb): refuse to decode
# more pixels than this.
MAX_PIXELS = 25_000_000

# The multipart form as OpenAPI describes it (the JSON body is PredictRequest).
MULTIPART_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "images": {
            "type": "array",
            "items": {"type": "string", "format": "binary"},
            "description": "PNG or JPEG files (image models)",
        },
        "texts": {"type": "array", "items": {"type": "string"}, "description": "text models"},
        "top_k": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 3},
    },
}


async def read_inputs(
    request: Request, model: LoadedModel, settings: ServeSettings
) -> tuple[list[str] | np.ndarray, int]:
    """The request's inputs for ``model`` and its ``top_k``; raises a JSON-answered error for
    anything that does not fit."""
    media = request.headers.get("content-type", "application/json").split(";")[0].strip().lower()
    if media == "application/json":
        parsed = PredictRequest.model_validate_json(await request.body())
        texts, images = parsed.texts, _decode_base64(parsed.images)
        top_k = parsed.top_k
    elif media in ("multipart/form-data", "application/x-www-form-urlencoded"):
        texts, images, top_k = await _read_form(request, settings)
    else:
        raise UnsupportedMediaError(
            f"content type {media!r}: send application/json or multipart/form-data",
            field="content-type",
        )
    return await model_inputs(texts, images, model, settings), top_k


async def read_explain_request(
    request: Request, model: LoadedModel, settings: ServeSettings
) -> tuple[list[str] | np.ndarray, ExplainRequest]:
    """An explain request (JSON only): its inputs for ``model``, and the request itself."""
    media = request.headers.get("content-type", "application/json").split(";")[0].strip().lower()
    if media != "application/json":
        raise UnsupportedMediaError(
            f"content type {media!r}: send application/json", field="content-type"
        )
    parsed = ExplainRequest.model_validate_json(await request.body())
    count = len(parsed.texts if parsed.texts is not None else parsed.images or [])
    if count > settings.max_explain_inputs:
        field = "texts" if parsed.texts is not None else "images"
        raise LimitError(
            f"{field}: {count} inputs, more than the {settings.max_explain_inputs} one explain "
            "request may hold (max_explain_inputs); split them over several requests",
            field=field,
            limit=settings.max_explain_inputs,
        )
    inputs = await model_inputs(parsed.texts, _decode_base64(parsed.images), model, settings)
    return inputs, parsed


async def model_inputs(
    texts: list[str] | None,
    images: list[bytes] | None,
    model: LoadedModel,
    settings: ServeSettings,
) -> list[str] | np.ndarray:
    """The texts (checked) or the images (decoded) that ``model`` takes."""
    if (texts is None) == (images is None):
        raise InvalidRequestError(
            "give either texts (a list of strings) or images (a list of files), not both or neither"
        )
    if model.predictor.kind == "text":
        if texts is None:
            raise InvalidRequestError(
                f"model {model.name!r} classifies texts; send texts, not images", field="images"
            )
        _check_texts(texts, settings)
        return texts
    if images is None:
        raise InvalidRequestError(
            f"model {model.name!r} classifies images; send images, not texts", field="texts"
        )
    _check_count("images", len(images), settings)
    shape = model.predictor.input_shape
    assert shape is not None, "an image model has an input shape"
    return await run_in_threadpool(_decode_images, images, shape, settings.max_image_bytes)


def _check_count(field: str, count: int, settings: ServeSettings) -> None:
    if count == 0:
        raise InvalidRequestError(f"{field}: give at least one", field=field)
    if count > settings.max_inputs:
        raise LimitError(
            f"{field}: {count} inputs, more than the {settings.max_inputs} allowed in one request "
            "(max_inputs); split them over several requests",
            field=field,
            limit=settings.max_inputs,
        )


def _check_texts(texts: list[str], settings: ServeSettings) -> None:
    _check_count("texts", len(texts), settings)
    for i, text in enumerate(texts):
        if len(text) > settings.max_text_chars:
            raise LimitError(
                f"texts[{i}]: {len(text)} characters, more than the {settings.max_text_chars} "
                "allowed (max_text_chars)",
                field=f"texts[{i}]",
                limit=settings.max_text_chars,
            )
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate (JSON lets "\ud800" through)
            raise InvalidRequestError(
                f"texts[{i}]: not valid Unicode (a lone surrogate)", field=f"texts[{i}]"
            ) from None


def _decode_base64(images: list[str] | None) -> list[bytes] | None:
    if images is None:
        return None
    decoded = []
    for i, text in enumerate(images):
        try:
            decoded.append(base64.b64decode(text, validate=True))
        except (binascii.Error, ValueError):
            raise InvalidRequestError(
                f"images[{i}]: not valid base64 (send the file's bytes base64-encoded)",
                field=f"images[{i}]",
            ) from None
    return decoded


async def _read_form(
    request: Request, settings: ServeSettings
) -> tuple[list[str] | None, list[bytes] | None, int]:
    # Starlette's own limits are set just above ours, so that ours (with their field names)
    # are the ones a client meets; its parse errors (400) become our 422.
    try:
        form = await request.form(
            max_files=settings.max_inputs + 1,
            max_fields=settings.max_inputs + 2,
            max_part_size=settings.max_text_chars * 4 + 1024,
        )
    except HTTPException as exc:
        raise InvalidRequestError(f"unreadable form: {exc.detail}", field="form") from None
    try:
        unknown = sorted(set(form.keys()) - {"images", "texts", "top_k"})
        if unknown:
            raise InvalidRequestError(
                f"unknown form field {unknown[0]!r}; expected images, texts or top_k",
                field=unknown[0],
            )
        top_k = _form_top_k(form.get("top_k"))
        texts = [t for t in form.getlist("texts") if isinstance(t, str)] or None
        if len(form.getlist("texts")) != len(texts or []):
            raise InvalidRequestError("texts: send text fields, not files", field="texts")
        parts = form.getlist("images")
        images = None
        if parts:
            images = []
            for i, part in enumerate(parts):
                if not isinstance(part, UploadFile):
                    raise InvalidRequestError(
                        f"images[{i}]: upload a file, not a text field", field=f"images[{i}]"
                    )
                images.append(await part.read(settings.max_image_bytes + 1))
    finally:
        await form.close()  # the uploads' temporary files
    return texts, images, top_k


def _form_top_k(value: Any) -> int:
    if value is None:
        return 3
    try:
        return PredictRequest(texts=[], top_k=value).top_k
    except ValidationError as exc:
        message = exc.errors()[0]["msg"]
        raise InvalidRequestError(f"top_k: {message}", field="top_k") from None


def _decode_images(images: list[bytes], shape: tuple[int, int, int], max_bytes: int) -> np.ndarray:
    return np.stack([_decode_image(i, data, shape, max_bytes) for i, data in enumerate(images)])


def _decode_image(i: int, data: bytes, shape: tuple[int, int, int], max_bytes: int) -> np.ndarray:
    field = f"images[{i}]"
    if len(data) > max_bytes:
        raise TooLargeError(
            f"{field}: larger than {max_bytes} bytes (max_image_bytes)",
            field=field,
            limit=max_bytes,
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                width, height = image.size
                if width * height > MAX_PIXELS:
                    raise TooLargeError(
                        f"{field}: {width}x{height} pixels, more than {MAX_PIXELS}",
                        field=field,
                        limit=MAX_PIXELS,
                    )
                if image.format not in ("PNG", "JPEG"):
                    raise InvalidRequestError(
                        f"{field}: a {image.format} image; send PNG or JPEG", field=field
                    )
                image.load()
                return image_to_array(image, shape)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError,
            Image.DecompressionBombWarning):  # fmt: skip
        raise InvalidRequestError(
            f"{field}: not a readable PNG or JPEG image", field=field
        ) from None


__all__ = ["MULTIPART_SCHEMA", "model_inputs", "read_explain_request", "read_inputs"]
