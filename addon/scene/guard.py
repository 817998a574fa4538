"""A flag for "these property changes come from our own code": update callbacks check it
and stay quiet, so setting several properties does the work once, not once per property."""


class Guard:
    def __init__(self):
        self._depth = 0

    def __enter__(self):
        self._depth += 1
        return self

    def __exit__(self, *exc):
        self._depth -= 1

    def __bool__(self):
        return self._depth > 0
