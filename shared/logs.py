"""One log format for every service."""

from __future__ import annotations

import logging


def setup_logging(level: str = "INFO", service: str = "distillery") -> None:
    logging.basicConfig(level=level.upper(),
                        format=f"%(asctime)s {service} %(levelname)s %(name)s: %(message)s")
    # aiokafka is chatty about routine rebalances, httpx about every request it sends (the teacher's
    # calls to a chat API: one line each, failures are logged by the teacher itself).
    for chatty in ("aiokafka", "httpx"):
        logging.getLogger(chatty).setLevel(logging.WARNING)
