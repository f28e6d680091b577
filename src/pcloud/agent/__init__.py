"""The pcloud health agent (see service.py); ``python -m pcloud.agent --config FILE``."""
