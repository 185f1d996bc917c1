"""Ask a running Dagster webserver to load the report files again (``reports reload``, and the
``make dev`` watcher): the GraphQL mutation behind the UI's Deployment → Reload buttons.

``reloadWorkspace`` reloads every code location of the workspace, so it needs no location name
and also covers a workspace of several locations. Under ``dagster dev`` the code server itself
restarts; the daemon, connected to the same server, sees its new id within a second or two and
loads the new definitions too.
"""

import json
import urllib.error
import urllib.request
from dataclasses import dataclass

DEFAULT_URL = "http://127.0.0.1:3000"

# Loading thousands of report files takes a while; the webserver answers once it is done.
RELOAD_TIMEOUT = 600

RELOAD_WORKSPACE = """
mutation ReloadReports {
  reloadWorkspace {
    __typename
    ... on Workspace {
      locationEntries {
        name
        locationOrLoadError {
          __typename
          ... on RepositoryLocation { repositories { jobs { name } } }
          ... on PythonError { message }
        }
      }
    }
    ... on UnauthorizedError { message }
    ... on PythonError { message }
  }
}
"""


class ReloadError(Exception):
    """The webserver could not be asked, or refused: the message says why and what to do."""


@dataclass(frozen=True)
class LocationReload:
    """One code location after the reload: its jobs, or why it failed to load."""

    name: str
    jobs: tuple[str, ...] = ()
    error: str | None = None

    def line(self) -> str:
        if self.error is not None:
            return f"{self.name}: failed to load: {self.error.strip()}"
        return f"{self.name}: reloaded, {len(self.jobs)} jobs"


def reload_locations(
    url: str = DEFAULT_URL, timeout: float = RELOAD_TIMEOUT
) -> list[LocationReload]:
    """Reload every code location of the webserver at ``url``; raise :class:`ReloadError` when
    it cannot be reached or refuses."""
    answer = _graphql(url, RELOAD_WORKSPACE, timeout)
    result = answer["reloadWorkspace"]
    if result["__typename"] != "Workspace":
        raise ReloadError(f"the webserver at {url} refused to reload: {result.get('message')}")
    return [_location(entry) for entry in result["locationEntries"]]


def _location(entry: dict) -> LocationReload:
    loaded = entry.get("locationOrLoadError") or {}
    if loaded.get("__typename") == "RepositoryLocation":
        jobs = sorted(job["name"] for repo in loaded["repositories"] for job in repo["jobs"])
        return LocationReload(entry["name"], tuple(jobs))
    return LocationReload(entry["name"], error=loaded.get("message") or "not loaded")


def _graphql(url: str, query: str, timeout: float) -> dict:
    endpoint = f"{url.rstrip('/')}/graphql"
    request = urllib.request.Request(
        endpoint,
        data=json.dumps({"query": query}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = json.loads(response.read())
    except urllib.error.HTTPError as exc:
        raise ReloadError(
            f"{endpoint} answered HTTP {exc.code}; is it a Dagster webserver?"
        ) from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ReloadError(
            f"cannot reach the Dagster webserver at {url}: {reason}; start it with `make dev`,"
            " or give its address with --url"
        ) from None
    except ValueError:
        raise ReloadError(f"{endpoint} did not answer JSON; is it a Dagster webserver?") from None
    if body.get("errors"):
        raise ReloadError(f"{endpoint}: {body['errors'][0].get('message')}")
    return body["data"]
