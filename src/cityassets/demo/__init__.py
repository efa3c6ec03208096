"""cityassets.demo: the deterministic demo city (a Zhengzhou-like city) and its loader."""
