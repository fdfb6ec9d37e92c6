// Swagger UI over the API document Apache serves next to /docs/.  Nothing
// is fetched from anywhere else: no validator badge (validatorUrl null).
window.onload = function () {
  window.ui = SwaggerUIBundle({
    url: new URL("../openapi.yaml", document.baseURI).href,
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    displayRequestDuration: true,
    defaultModelsExpandDepth: 1
  });
};
