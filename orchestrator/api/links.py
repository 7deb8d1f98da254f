"""OpenAPI links: which response value names the object in which later route, so a reader
(or a generated client, or a fuzzer) follows a created object by its name, not its id."""
from __future__ import annotations


def created(status: int, **links: tuple[str, str, dict[str, str]]) -> dict:
    """`responses` entry for `status` with links NAME=(method, path, {parameter: expression})."""
    return {status: {"links": {name: {
        "operationRef": "#/paths/" + ("/api" + path).replace("~", "~0").replace("/", "~1")
                        + "/" + method,
        "parameters": parameters} for name, (method, path, parameters) in links.items()}}}
