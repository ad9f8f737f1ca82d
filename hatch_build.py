"""Compiles the message catalogs (.po -> .mo) whenever a wheel or an editable install is built."""

from pathlib import Path

from hatchling.builders.hooks.plugin.interface import BuildHookInterface


class CompileCatalogs(BuildHookInterface):
    PLUGIN_NAME = "custom"

    def initialize(self, version, build_data):
        from babel.messages.mofile import write_mo
        from babel.messages.pofile import read_po

        for po in Path(self.root, "canvass", "translations").glob("*/LC_MESSAGES/messages.po"):
            with po.open("rb") as handle:
                catalog = read_po(handle)
            with po.with_suffix(".mo").open("wb") as handle:
                write_mo(handle, catalog)
            build_data.setdefault("artifacts", []).append(str(po.with_suffix(".mo").relative_to(self.root)))
