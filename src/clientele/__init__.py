"""Clientele: a self-hostable Customers service for restaurants and shops."""
