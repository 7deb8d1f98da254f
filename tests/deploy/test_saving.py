"""Saving the wizard's answers into a project file: the entry is spliced in, everything else
(comments, anchors, order) stays as written, and a file that cannot take it is left alone."""
from __future__ import annotations

import textwrap

import yaml

from orchestrator.deploy.saving import save_deployment

ENTRY = {"name": "nightly", "entrypoint": "flows.py:etl", "work_pool": {"name": "pool"},
         "pull": [{"flowpool.steps.git_clone": {"repository": "file:///srv/flows.git"}}]}


def saved(tmp_path, text: str, index: int | None = None):
    path = tmp_path / "flowpool.yaml"
    path.write_text(textwrap.dedent(text))
    result = save_deployment(path, ENTRY, index)
    return result, path.read_text()


def test_a_new_file_is_written_whole(tmp_path):
    result = save_deployment(tmp_path / "flowpool.yaml", ENTRY)

    assert result.written
    assert yaml.safe_load((tmp_path / "flowpool.yaml").read_text())["deployments"] == [ENTRY]


def test_an_empty_list_from_init_takes_the_entry_and_keeps_the_comments(tmp_path):
    result, text = saved(tmp_path, """\
        # written by flowpool init
        pull:
        - flowpool.steps.set_working_directory: {directory: /srv}
        deployments: []
        # - name: my-deployment
        """)

    assert result.written
    assert text.startswith("# written by flowpool init\n")
    assert text.rstrip().endswith("# - name: my-deployment")
    assert yaml.safe_load(text)["deployments"] == [ENTRY]


def test_an_indented_list_gets_the_entry_at_its_indentation_and_anchors_survive(tmp_path):
    result, text = saved(tmp_path, """\
        definitions:
          pool: &pool {name: shared}
        deployments:
          - name: first   # the first one
            entrypoint: flows.py:first
            work_pool: *pool
        """)

    assert result.written
    assert "work_pool: *pool" in text and "# the first one" in text
    assert "  - name: nightly\n    entrypoint: flows.py:etl\n" in text
    assert [d["name"] for d in yaml.safe_load(text)["deployments"]] == ["first", "nightly"]


def test_an_entry_the_wizard_completed_is_replaced_in_place(tmp_path):
    result, text = saved(tmp_path, """\
        deployments:
        - name: nightly
          entrypoint: flows.py:etl
        - name: other   # untouched
          entrypoint: flows.py:other
        name: project
        """, index=0)

    assert result.written
    assert "- name: other   # untouched" in text
    assert yaml.safe_load(text) == {"deployments": [ENTRY, {"name": "other",
                                                            "entrypoint": "flows.py:other"}],
                                    "name": "project"}


def test_a_flow_style_list_is_left_alone_and_the_entry_is_given_to_paste(tmp_path):
    original = "deployments: [{name: first, entrypoint: flows.py:first}]\n"
    result, text = saved(tmp_path, original)

    assert not result.written
    assert text == original
    assert yaml.safe_load(result.entry_text) == [ENTRY]
