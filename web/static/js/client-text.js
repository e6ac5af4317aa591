// The UI strings the scripts show, in the page's language: the server writes them as JSON (_client_text.html),
// since the Content-Security-Policy runs no inline script.
window.WebirText = JSON.parse(document.getElementById('webir-text').textContent);
