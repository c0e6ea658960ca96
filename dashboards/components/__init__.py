"""Pieces the pages share: filter bar, key figure cards, charts, tables, exports, history."""
