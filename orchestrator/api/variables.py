"""Routes for variables: named JSON values that project files reference."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Path, Response

from ..models.variables import VARIABLE_NAME_PATTERN, Variable, VariableCreate, VariableValue
from ..store import variables as store
from ..store.database import Database
from .checks import CheckedRoute
from .dependencies import get_db, utcnow
from .errors import ERROR_RESPONSES
from .links import created
from .pagination import PAGE_RESPONSES, PageQuery, page_query, send_page

router = APIRouter(prefix="/variables", tags=["variables"], route_class=CheckedRoute,
                   responses=ERROR_RESPONSES)
VariableNamePath = Path(pattern=VARIABLE_NAME_PATTERN, max_length=100)


@router.get("", responses=PAGE_RESPONSES)
def list_variables(response: Response, page: PageQuery = Depends(page_query()),
                   db: Database = Depends(get_db)) -> list[Variable]:
    """Variables by name, a page at a time."""
    with db.connect() as conn:
        return send_page(response, store.page_variables(conn, page.after, page.limit))


@router.post("", status_code=201, responses=created(
    201, ReadVariable=("get", "/variables/{name}", {"name": "$response.body#/name"})))
def create_variable(request: VariableCreate, db: Database = Depends(get_db)) -> Variable:
    """Create a variable; 409 when it exists (`PUT /variables/NAME` replaces a value)."""
    with db.begin() as conn:
        return store.create_variable(conn, request.name, request.value, utcnow())


@router.get("/{name}")
def read_variable(name: str, db: Database = Depends(get_db)) -> Variable:
    with db.connect() as conn:
        return store.read_variable(conn, name)


@router.put("/{name}", responses={201: {"model": Variable, "description": "A new variable."}})
def set_variable(request: VariableValue, response: Response,
                 name: str = VariableNamePath, db: Database = Depends(get_db)) -> Variable:
    """Create or replace; 201 when the variable is new."""
    with db.begin() as conn:
        variable, created = store.set_variable(conn, name, request.value, utcnow())
    response.status_code = 201 if created else 200
    return variable


@router.delete("/{name}")
def delete_variable(name: str, db: Database = Depends(get_db)) -> Variable:
    with db.begin() as conn:
        return store.delete_variable(conn, name)
