"""Thin views: GET never writes; a POST calls one action and returns a fragment."""

import asyncio

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.db import connection
from django.http import JsonResponse


def _database_ok() -> bool:
    with connection.cursor() as cur:
        cur.execute("SELECT 1")
        return cur.fetchone()[0] == 1


async def healthz(request):
    """200 when the database and the channel layer both answer."""
    checks = {}
    try:
        checks["database"] = await sync_to_async(_database_ok)()
    except Exception as exc:
        checks["database"] = False
        checks["database_error"] = str(exc)
    try:
        layer = get_channel_layer()
        channel = await layer.new_channel()
        await layer.send(channel, {"type": "health.ping"})
        msg = await asyncio.wait_for(layer.receive(channel), timeout=2)
        checks["channel_layer"] = msg.get("type") == "health.ping"
    except Exception as exc:
        checks["channel_layer"] = False
        checks["channel_layer_error"] = str(exc)
    ok = checks["database"] is True and checks["channel_layer"] is True
    return JsonResponse({"ok": ok, **checks}, status=200 if ok else 503)
