// The interactive API documentation (/api/v1/docs): Swagger UI from static/vendor/swagger-ui, no CDN.
// No validator (it would call an outside service); the document is the API's own openapi.json.
window.addEventListener("load", () => {
  window.ui = SwaggerUIBundle({
    url: document.body.dataset.openapi,
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
  });
});
