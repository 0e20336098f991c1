/* The agents' login: POST /inbox/api/login sets the session cookie; then on to the inbox. */
(function () {
  "use strict";
  var form = document.getElementById("login");
  var error = document.getElementById("error");
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    error.hidden = true;
    var button = form.querySelector("button");
    button.disabled = true;
    fetch("/inbox/api/login", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({
        name: document.getElementById("name").value.trim(),
        password: document.getElementById("password").value,
      }),
    }).then(function (response) {
      if (response.ok) { location.assign("/inbox"); return; }
      return response.json().then(function (data) {
        error.textContent = (data.error && data.error.message) || "Login failed";
        error.hidden = false;
      });
    }).catch(function () {
      error.textContent = "The server cannot be reached";
      error.hidden = false;
    }).then(function () { button.disabled = false; });
  });
})();
