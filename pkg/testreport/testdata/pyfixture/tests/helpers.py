def check_total(items, want):
    total = sum(items)
    assert total == want, f"total {total} != {want}"
