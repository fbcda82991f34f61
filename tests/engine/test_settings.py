"""One settings object: each setting from the first layer that names it (command line, ini,
environment, .env, default), frozen, and handed to xdist workers as plain data."""

import pytest

from ironarchive_schema.settings import Settings, resolve

LAYERS = ("command line", "ini", "environment", ".env")


@pytest.mark.parametrize("first", range(len(LAYERS) + 1),
                         ids=[*LAYERS, "default"])
def test_the_first_layer_that_names_a_setting_wins(tmp_path, first):
    env_file = tmp_path / ".env"
    named = dict.fromkeys(LAYERS[first:], True)
    env_file.write_text("PG_VERSION=14\n" if named.get(".env") else "")
    config = resolve({"PG_VERSION": "17"} if named.get("command line") else {},
                     environ={"PG_VERSION": "16"} if named.get("environment") else {},
                     env_file=env_file, ini={"PG_VERSION": "18"} if named.get("ini") else {},
                     root=tmp_path)
    want = {"command line": "17", "ini": "18", "environment": "16", ".env": "14"}
    layer = LAYERS[first] if first < len(LAYERS) else "default"
    assert config.get("PG_VERSION") == want.get(layer)
    assert config.source("PG_VERSION") == (str(env_file) if layer == ".env" else layer)


def test_an_empty_value_counts_as_unset_at_every_layer(tmp_path):
    config = resolve({"PG_VERSION": ""}, environ={"PG_VERSION": "16"}, ini={"PG_VERSION": ""},
                     env_file=tmp_path / "none")
    assert (config.get("PG_VERSION"), config.source("PG_VERSION")) == ("16", "environment")


def test_paths_are_under_the_projects_folder(tmp_path):
    config = resolve(ini={"MIGRATIONS_DIR": "db/migrations"}, environ={},
                     env_file=tmp_path / "none", root=tmp_path)
    assert config.migrations_dir == tmp_path / "db" / "migrations"
    assert config.contract_file == tmp_path / "contract" / "schema.yaml"


def test_the_settings_are_frozen_and_cross_to_a_worker_as_plain_data(tmp_path):
    config = resolve({"PG_VERSION": "17"}, environ={"PATH": "/bin"}, env_file=tmp_path / "x",
                     root=tmp_path).with_values("the pinned build", MIGRATE_BIN="/x/migrate")
    with pytest.raises(AttributeError):
        config.values = {}  # type: ignore[misc]
    assert Settings.from_plain(config.to_plain()) == config
    assert config.source("MIGRATE_BIN") == "the pinned build"


def test_a_name_that_is_not_a_setting_is_refused(tmp_path):
    config = resolve(environ={}, env_file=tmp_path / "x")
    with pytest.raises(KeyError, match="NOT_A_SETTING is not a setting"):
        config.with_values("test", NOT_A_SETTING="1")
