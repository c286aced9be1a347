"""`python -m kubectl_datadog` and the PyInstaller entry point."""

from kubectl_datadog.cli import main

if __name__ == "__main__":
    main()
