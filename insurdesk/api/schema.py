"""The API object: a NinjaAPI whose OpenAPI description is built once per mount point.

The description is public (docs/security.md) and takes about a second of CPU to build from the
routers; built on every request, /api/v1/openapi.json would let anyone without a token keep a server
busy. Operations are fixed once the URLconf is loaded, so the first description stays true.
"""

from ninja import NinjaAPI


class InsurdeskAPI(NinjaAPI):
    def get_openapi_schema(self, *, path_prefix=None, path_params=None):
        if path_prefix is None:
            path_prefix = self.get_root_path(path_params or {})
        cache = self.__dict__.setdefault("_schema_cache", {})
        if path_prefix not in cache:
            cache[path_prefix] = super().get_openapi_schema(path_prefix=path_prefix)
        return cache[path_prefix]
