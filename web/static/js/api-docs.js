// Swagger UI over our own OpenAPI document. No online validator: its badge would send the document's address
// to validator.swagger.io (and the Content-Security-Policy loads images from this site only).
(function () {
  const root = document.getElementById('swagger');
  SwaggerUIBundle({ url: root.dataset.url, domNode: root, deepLinking: true, validatorUrl: null });
})();
