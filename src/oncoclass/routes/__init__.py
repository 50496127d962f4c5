"""The service's routers, one per resource (as FastAPI's full-stack template arranges them), and the
dependencies they share (:mod:`.deps`: the store, the signed-in user)."""
