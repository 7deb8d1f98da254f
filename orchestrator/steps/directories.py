"""The `set_working_directory` step: where the rest of the steps and the flow run."""
from __future__ import annotations

import os

from .errors import StepFailed


def set_working_directory(directory: str) -> dict[str, str]:
    """Change the process's working directory; outputs `directory`."""
    if not directory:
        raise StepFailed("set_working_directory needs a directory")
    try:
        os.chdir(directory)
    except FileNotFoundError:
        raise StepFailed(f"set_working_directory: {directory} does not exist here; pull the code "
                         "first (git_clone) or give a directory that exists where runs execute") \
            from None
    except NotADirectoryError:
        raise StepFailed(f"set_working_directory: {directory} is not a directory") from None
    return {"directory": str(directory)}
