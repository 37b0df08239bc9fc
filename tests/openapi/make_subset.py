"""Cut the paths this project uses out of Sentry's dereferenced OpenAPI schema.

Usage: python tests/openapi/make_subset.py /path/to/openapi-derefed.json > tests/openapi/sentry-openapi-subset.json

Kept out of the package and out of the tests: the tests read only the committed subset.
"""

from __future__ import annotations

import json
import sys

# path -> the operations we keep
WANTED: dict[str, tuple[str, ...]] = {
    "/api/0/organizations/": ("get",),
    "/api/0/organizations/{organization_id_or_slug}/": ("get",),
    "/api/0/organizations/{organization_id_or_slug}/projects/": ("get",),
    "/api/0/projects/{organization_id_or_slug}/{project_id_or_slug}/": ("get",),
    "/api/0/organizations/{organization_id_or_slug}/issues/": ("get", "put"),
    "/api/0/projects/{organization_id_or_slug}/{project_id_or_slug}/issues/": ("get", "put"),
    "/api/0/organizations/{organization_id_or_slug}/issues/{issue_id}/": ("get", "put"),
    "/api/0/organizations/{organization_id_or_slug}/issues/{issue_id}/events/": ("get",),
    "/api/0/organizations/{organization_id_or_slug}/releases/": ("get", "post"),
    "/api/0/organizations/{organization_id_or_slug}/releases/{version}/": ("get", "put"),
    "/api/0/organizations/{organization_id_or_slug}/releases/{version}/commits/": ("get",),
    "/api/0/organizations/{organization_id_or_slug}/releases/{version}/deploys/": ("get", "post"),
    "/api/0/organizations/{organization_id_or_slug}/repos/": ("get",),
    "/api/0/organizations/{organization_id_or_slug}/sessions/": ("get",),
}


def main(source: str) -> None:
    with open(source, encoding="utf-8") as fh:
        full = json.load(fh)
    paths = {}
    for path, methods in WANTED.items():
        item = full["paths"][path]
        paths[path] = {key: value for key, value in item.items() if key in methods or key == "parameters"}
    subset = {
        "openapi": full["openapi"],
        "info": full["info"],
        "servers": full.get("servers", []),
        "paths": paths,
        "components": {"securitySchemes": full.get("components", {}).get("securitySchemes", {})},
    }
    json.dump(subset, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main(sys.argv[1])
