"""The JSON column every cluster object and feed row uses: Django's JSONField, read back through `jsontext`.

A burst of scaling reads thousands of pods whose bodies are decoded column by column; orjson decodes them a few
times faster than the standard library. What orjson refuses (text that is not JSON, values the driver already
decoded) takes JSONField's own path.
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
            except ValueError:
                pass
        return super().from_db_value(value, expression, connection)
