"""Times MCP tool calls through the official Python client SDK: starts
`AGENT_TTY [--home HOME] mcp`, creates a bash Session, calls
`run {command: "true"}` N times, and prints the median and p90 per call in
milliseconds. Used by bench/mcp.sh."""

import asyncio
import os
import statistics
import sys
import time

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client


async def main():
    exe, home, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    params = StdioServerParameters(
        command=exe, args=["--home", home, "mcp"], env=dict(os.environ)
    )
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as session:
            await session.initialize()
            created = await session.call_tool(
                "create", {"command": ["bash", "--norc", "--noprofile"]}
            )
            sid = created.structured_content["result"]["sessionId"]
            await session.call_tool("run", {"sessionId": sid, "command": "true"})
            times = []
            for _ in range(n):
                t0 = time.perf_counter()
                await session.call_tool("run", {"sessionId": sid, "command": "true"})
                times.append((time.perf_counter() - t0) * 1000)
            await session.call_tool("destroy", {"sessionId": sid, "force": True})
    times.sort()
    print(
        f"MCP tool call run {{command: true}}: median {statistics.median(times):.1f} ms, "
        f"p90 {times[int(len(times) * 0.9)]:.1f} ms over {n} calls"
    )


asyncio.run(main())
