"""The API's routers, one module per area; ``monitor.api.app.create_app`` includes them all."""
