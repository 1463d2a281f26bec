"""Presentation: every text and button the bot shows, turned from outcomes and domain events.

Services return outcomes and emit events; nothing below this layer builds a message. Flows
(``bot.handlers``) use these modules to say what happened; :mod:`bot.presentation.notifications`
turns domain events into messages for the people they concern.
"""
