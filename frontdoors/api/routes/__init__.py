"""The API's routers, one module per area; ``frontdoors.api.app.create_app`` includes them all."""
