from tests.care.conftest import english  # noqa: F401  (fixture shared with the care tests)
