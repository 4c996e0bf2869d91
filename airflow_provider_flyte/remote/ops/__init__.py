"""Sans-IO operations of the Flyte client: generators that yield :class:`~.call.Call` / :class:`~.call.Local`
steps and return their result. Written once; driven by the blocking and the asyncio transport."""

from airflow_provider_flyte.remote.ops.call import Call, Local, Op, drive_async, drive_sync

__all__ = ["Call", "Local", "Op", "drive_async", "drive_sync"]
