"""Messenger adapters: the only code that knows Telegram or Zalo."""
