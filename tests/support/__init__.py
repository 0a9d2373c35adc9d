"""Helpers the tests share, kept apart from the test files so a reader of ``tests/integration/``
sees only tests: ``scenario`` (specs and logged data of a model), ``stages`` (a check's six
stages run in this process), ``api_server`` (a real ``modelwatch serve`` process),
``dashboard_data`` (check chains for the dashboard tests), ``mlflow_server`` (a real MLflow
tracking server fixture). Fixtures that start Redis, PostgreSQL and workers stay in
``tests/conftest.py``.
"""
