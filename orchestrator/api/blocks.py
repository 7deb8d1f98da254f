"""Routes for blocks: typed configuration documents whose secret fields are sealed here,
before the store sees them, and masked in every answer unless `include_secrets` asks."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Path, Query, Response

from ..encryption import SecretBox
from ..masking import MASK
from ..models.blocks import (BLOCK_NAME_PATTERN, BLOCK_TYPES, Block, BlockCreate, BlockData,
                             BlockTypeInfo, SealedBlock, block_type, checked_block_data,
                             split_secrets)
from ..store import blocks as store
from ..store.database import Database
from ..store.pages import Page
from .checks import CheckedRoute
from .dependencies import get_db, get_secret_box, utcnow
from .errors import ERROR_RESPONSES
from .links import created
from .pagination import PAGE_RESPONSES, PageQuery, page_query, send_page

router = APIRouter(prefix="/blocks", tags=["blocks"], route_class=CheckedRoute,
                   responses=ERROR_RESPONSES)
types_router = APIRouter(prefix="/block-types", tags=["blocks"], route_class=CheckedRoute,
                         responses=ERROR_RESPONSES)
BlockTypePath = Path(max_length=64, description="a block type, e.g. secret")
BlockNamePath = Path(pattern=BLOCK_NAME_PATTERN, max_length=100)
IncludeSecrets = Query(False, description="answer the secret fields in the clear (for the "
                                          "deploy and the runs that use them)")


@types_router.get("")
def list_block_types() -> list[BlockTypeInfo]:
    """The block types there are, with their fields."""
    return [BlockTypeInfo.of(kind) for kind in BLOCK_TYPES.values()]


@router.get("", responses=PAGE_RESPONSES)
def list_blocks(response: Response,
                kind: str | None = Query(None, alias="type", max_length=64,
                                         description="only blocks of this type"),
                page: PageQuery = Depends(page_query()),
                db: Database = Depends(get_db)) -> list[Block]:
    """Blocks by type and name, a page at a time; secret fields masked."""
    if kind is not None:
        block_type(kind)
    with db.connect() as conn:
        found = store.page_blocks(conn, kind, page.after, page.limit)
    return send_page(response, Page([masked(b) for b in found.items], found.cursor))


@router.post("", status_code=201, responses=created(
    201, ReadBlock=("get", "/blocks/{type}/{name}",
                    {"type": "$response.body#/type", "name": "$response.body#/name"})))
def create_block(request: BlockCreate, db: Database = Depends(get_db),
                 box: SecretBox = Depends(get_secret_box)) -> Block:
    """Create a block; 409 when TYPE/NAME exists (`PUT /blocks/TYPE/NAME` replaces one)."""
    data, sealed, fields = _sealed(request.type, request.data, box)
    with db.begin() as conn:
        return masked(store.create_block(conn, request.type, request.name, data, sealed, fields,
                                         utcnow()))


@router.get("/{type}/{name}")
def read_block(type: str = BlockTypePath, name: str = BlockNamePath,
               include_secrets: bool = IncludeSecrets, db: Database = Depends(get_db),
               box: SecretBox = Depends(get_secret_box)) -> Block:
    block_type(type)
    with db.connect() as conn:
        block = store.read_block(conn, type, name)
    return revealed(block, box) if include_secrets else masked(block)


@router.put("/{type}/{name}", responses={201: {"model": Block, "description": "A new block."}})
def set_block(request: BlockData, response: Response, type: str = BlockTypePath,
              name: str = BlockNamePath, db: Database = Depends(get_db),
              box: SecretBox = Depends(get_secret_box)) -> Block:
    """Create or replace; 201 when the block is new."""
    data, sealed, fields = _sealed(type, request.data, box)
    with db.begin() as conn:
        block, new = store.set_block(conn, type, name, data, sealed, fields, utcnow())
    response.status_code = 201 if new else 200
    return masked(block)


@router.delete("/{type}/{name}")
def delete_block(type: str = BlockTypePath, name: str = BlockNamePath,
                 db: Database = Depends(get_db)) -> Block:
    block_type(type)
    with db.begin() as conn:
        return masked(store.delete_block(conn, type, name))


def _sealed(type_: str, data: dict, box: SecretBox) -> tuple[dict, str | None, list[str]]:
    """(plain fields, the secret ones sealed in one token, their names), once the data fits."""
    plain, secret = split_secrets(type_, checked_block_data(type_, data))
    return plain, (box.seal(secret) if secret else None), sorted(secret)


def masked(block: SealedBlock) -> Block:
    return _shown(block, {name: MASK for name in block.secret_fields})


def revealed(block: SealedBlock, box: SecretBox) -> Block:
    return _shown(block, box.open(block.secret_data) if block.secret_data else {})


def _shown(block: SealedBlock, secrets: dict) -> Block:
    return Block(id=block.id, type=block.type, name=block.name, data={**block.data, **secrets},
                 secret_fields=block.secret_fields, created=block.created, updated=block.updated)

