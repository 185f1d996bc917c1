from setuptools import find_packages, setup

# Dagster and its integration libraries are released together; pinning the set keeps
# `dagster-postgres` from being resolved to an ancient release on a fresh machine.
DAGSTER_VERSION = "1.13.27"
DAGSTER_LIBS_VERSION = "0.29.27"

setup(
    name="reports_pipeline",
    version="0.1.0",
    description="Scheduled reports described in YAML, run and delivered by Dagster.",
    packages=find_packages(exclude=["reports_pipeline_tests*"]),
    package_data={
        "reports_pipeline": [
            "reports/*.yaml",
            "reports/**/*.yaml",
            "connections.yaml",
            "render/templates/*.j2",
        ]
    },
    python_requires=">=3.10",
    install_requires=[
        f"dagster=={DAGSTER_VERSION}",
        f"dagster-webserver=={DAGSTER_VERSION}",
        f"dagster-postgres=={DAGSTER_LIBS_VERSION}",
        "psycopg2-binary>=2.9",
        "sqlalchemy>=2.0",
        "duckdb>=2.0",
        "duckdb-engine>=0.13",
        "pandas",
        "pyarrow>=15",
        "openpyxl>=3.1",
        "xlsxwriter>=3.2",
        "weasyprint>=68.1",
        "matplotlib>=3.7",
        "jinja2>=3.1",
        "sendgrid>=6.11",
        "pydantic>=2.6",
        "pyyaml>=6",
        "email-validator>=2.1",
        "holidays>=0.50",
        "requests>=2.31",
        "slack_sdk>=3.33",
        "paramiko>=3.4",
        "boto3>=1.34",
        "cryptography>=42",
        "click>=8",
        "watchfiles>=0.20",  # make dev reloads the UI when report files change
    ],
    extras_require={
        "test": [
            "pytest>=8",
            "aiosmtpd>=1.4",
            "asyncssh>=2.14",
            "moto[server]>=5.0",
            "hypothesis",
            "pypdf>=4",
            "pypdfium2>=4",
            "psutil>=5.9",  # tests find and kill the process of a run mid-delivery
            # The UI test drives Debian's chromium (make test installs it); never a downloaded one.
            "playwright>=1.40",
            "ruff",
            # The Celery executor's tests run in CI like every other.
            f"dagster-celery=={DAGSTER_LIBS_VERSION}",
        ],
        # Report steps on Celery workers on other machines (README, "Beyond one machine").
        "celery": [f"dagster-celery=={DAGSTER_LIBS_VERSION}"],
    },
    entry_points={"console_scripts": ["reports=reports_pipeline.cli:main"]},
)
