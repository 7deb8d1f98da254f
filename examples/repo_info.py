"""The tutorial's flow, offline: report on a local git repository.

    flowpool deploy examples/repo_info.py:get_repo_info --name my-deployment --pool tutorial-process-pool
    flowpool deployment run get-repo-info/my-deployment -p repo_path=/path/to/a/checkout --watch
"""
import collections
import subprocess
from pathlib import Path

from orchestrator import flow


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                          text=True).stdout


@flow
def get_repo_info(repo_path: str = ".", top: int = 5) -> dict:
    """Report a git repository's commit count, authors and files by extension."""
    repo = Path(repo_path).resolve()
    commits = int(git(repo, "rev-list", "--count", "HEAD").strip() or 0)
    authors = collections.Counter(git(repo, "log", "--format=%an").splitlines())
    files = git(repo, "ls-files").splitlines()
    extensions = collections.Counter(Path(f).suffix or "(none)" for f in files)
    print(f"{repo.name}: {commits} commits by {len(authors)} author(s), {len(files)} files")
    for ext, count in extensions.most_common(top):
        print(f"  {ext:<8} {count}")
    return {
        "repository": repo.name,
        "commits": commits,
        "authors": dict(authors.most_common(top)),
        "files": len(files),
        "files_by_extension": dict(extensions.most_common(top)),
    }


if __name__ == "__main__":
    print(get_repo_info())
