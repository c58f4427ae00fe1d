// Rivet's initializer for the vendored Swagger UI (a file, not an inline script: the
// Content-Security-Policy allows only scripts served by Rivet itself). The validator badge is
// off because it would call validator.swagger.io.
window.addEventListener("DOMContentLoaded", function () {
  window.ui = SwaggerUIBundle({
    url: "/api/v1/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
  });
});
