"""The serving view's reader for `make bench`'s serving stage: query serving.daily_sales
again and again in one Spark session until stopped, one JSON line per answer: when it came
(`end`, wall clock), how long the query took, and the orders it counts (every silver purchase,
batch or speed view)."""

from __future__ import annotations

import json
import signal
import sys
import time

from lakehouse.settings import load_settings
from lakehouse.spark import spark_session

QUERY = "select coalesce(sum(orders), 0) as orders from serving.daily_sales"


def main() -> None:
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(True))
    spark = spark_session(load_settings(), "bench-serving-poll")
    while not stop:
        started = time.time()
        orders = int(spark.sql(QUERY).first()[0])
        end = time.time()
        print(json.dumps({"end": end, "seconds": round(end - started, 3), "orders": orders}), flush=True)
    sys.exit(0)


if __name__ == "__main__":
    main()
