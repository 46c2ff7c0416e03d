// The console's only script: a confirmation before forms that delete (class "confirm", text in data-confirm).
document.addEventListener("submit", function (event) {
  var form = event.target;
  if (form.classList && form.classList.contains("confirm") && !window.confirm(form.dataset.confirm || "OK?")) {
    event.preventDefault();
  }
});
