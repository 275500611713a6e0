"""The JSON column every cluster object and feed row uses: Django's JSONField, read back through `jsontext`.

A burst of scaling reads thousands of pods whose bodies are decoded column by column; orjson decodes them a few
times faster than the standard library. Text that is not JSON is returned as it is, as JSONField does; values the
driver already decoded take JSONField's own path.
"""

from __future__ import annotations

from django.db import models

from . import jsontext


class JSONColumn(models.JSONField):
    def from_db_value(self, value, expression, connection):
        if type(value) is str and self.decoder is None:
            if value == "{}":
                return {}
            if value == "[]":
                return []
            try:
                return jsontext.decode(value)
            except ValueError:  # not JSON text after all: as JSONField does, the value as it is
                return value
        return super().from_db_value(value, expression, connection)
