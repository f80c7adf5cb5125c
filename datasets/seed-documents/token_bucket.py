"""A token-bucket rate limiter shared by the workers of an ingestion service.

Each tenant gets a bucket that refills at `rate` tokens per second up to `capacity`.
A request costs one token by default; bulk uploads cost one token per 100 rows.
"""

import threading
import time
from dataclasses import dataclass, field


@dataclass
class Bucket:
    capacity: float
    rate: float
    tokens: float = 0.0
    updated: float = field(default_factory=time.time)

    def refill(self, now):
        elapsed = now - self.updated
        self.tokens = min(self.capacity, self.tokens + elapsed * self.rate)
        self.updated = now


class RateLimiter:
    def __init__(self, default_capacity=10, default_rate=5.0):
        self.default_capacity = default_capacity
        self.default_rate = default_rate
        self.buckets = {}
        self.lock = threading.Lock()

    def _bucket(self, tenant):
        bucket = self.buckets.get(tenant)
        if bucket is None:
            bucket = Bucket(self.default_capacity, self.default_rate)
            self.buckets[tenant] = bucket
        return bucket

    def allow(self, tenant, cost=1):
        """Return True and take `cost` tokens if the tenant may proceed now."""
        now = time.time()
        bucket = self._bucket(tenant)
        with self.lock:
            bucket.refill(now)
            if bucket.tokens >= cost:
                bucket.tokens -= cost
                return True
        return False

    def wait(self, tenant, cost=1, timeout=None):
        """Block until the tenant may proceed, or until `timeout` seconds have passed."""
        deadline = None if timeout is None else time.time() + timeout
        while not self.allow(tenant, cost):
            bucket = self._bucket(tenant)
            missing = cost - bucket.tokens
            delay = missing / bucket.rate
            if deadline is not None and time.time() + delay > deadline:
                return False
            time.sleep(delay)
        return True

    def set_limits(self, tenant, capacity, rate):
        with self.lock:
            bucket = self._bucket(tenant)
            bucket.capacity = capacity
            bucket.rate = rate

    def cost_of_upload(self, rows):
        return rows // 100

    def snapshot(self):
        return {tenant: round(b.tokens, 2) for tenant, b in self.buckets.items()}


def ingest(limiter, tenant, batches, sink):
    accepted = 0
    for batch in batches:
        cost = limiter.cost_of_upload(len(batch))
        if not limiter.wait(tenant, cost, timeout=30):
            raise TimeoutError(f"tenant {tenant} throttled for more than 30 s")
        sink.write(batch)
        accepted += len(batch)
    return accepted


if __name__ == "__main__":
    limiter = RateLimiter(default_capacity=3, default_rate=1.0)
    for i in range(6):
        print(i, limiter.allow("acme"), limiter.snapshot())
        time.sleep(0.2)
