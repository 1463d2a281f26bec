"""nongsan-bot: connects farmers' cooperatives with produce traders over chat."""

__version__ = "0.1.0"
