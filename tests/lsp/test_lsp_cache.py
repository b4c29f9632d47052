"""Suggestion cache: exact hits, type-through hits and their limits."""

from fim_server.lsp.cache import PREFIX_SPAN, CompletionCache

URI = "file:///a.py"
BEFORE = "items = []\ntotal = "
AFTER = "\nprint(total)\n"


def test_exact_hit():
    cache = CompletionCache()
    cache.store(URI, BEFORE + AFTER, len(BEFORE), "sum(items)", 0, "model")
    hit = cache.lookup(URI, BEFORE + AFTER, len(BEFORE))
    assert (hit.text, hit.kind, hit.source) == ("sum(items)", "exact", "model")
    assert cache.lookup("file:///b.py", BEFORE + AFTER, len(BEFORE)) is None


def test_type_through_returns_rest():
    cache = CompletionCache()
    cache.store(URI, BEFORE + AFTER, len(BEFORE), "sum(items)", 0, "speculative")
    typed = BEFORE + "sum("
    hit = cache.lookup(URI, typed + AFTER, len(typed))
    assert (hit.text, hit.kind, hit.source) == ("items)", "type_through", "speculative")


def test_diverging_keystroke_misses():
    cache = CompletionCache()
    cache.store(URI, BEFORE + AFTER, len(BEFORE), "sum(items)", 0, "model")
    typed = BEFORE + "sux"
    assert cache.lookup(URI, typed + AFTER, len(typed)) is None


def test_whole_suggestion_typed_misses():
    cache = CompletionCache()
    cache.store(URI, BEFORE + AFTER, len(BEFORE), "sum(items)", 0, "model")
    typed = BEFORE + "sum(items)"
    assert cache.lookup(URI, typed + AFTER, len(typed)) is None


def test_changed_suffix_misses():
    cache = CompletionCache()
    cache.store(URI, BEFORE + AFTER, len(BEFORE), "sum(items)", 0, "model")
    typed = BEFORE + "su"
    assert cache.lookup(URI, typed + ")" + AFTER, len(typed)) is None  # an auto-closed bracket appeared


def test_changed_prefix_misses():
    cache = CompletionCache()
    cache.store(URI, BEFORE + AFTER, len(BEFORE), "sum(items)", 0, "model")
    edited = BEFORE.replace("items = []", "items = ()") + "su"
    assert cache.lookup(URI, edited + AFTER, len(edited)) is None


def test_replacing_suggestion_is_exact_only():
    cache = CompletionCache()
    cache.store(URI, "x = f()\n", 6, "a, b)", 1, "model")  # replaces the auto-closed ")"
    assert cache.lookup(URI, "x = f()\n", 6).replace_chars == 1
    assert cache.lookup(URI, "x = f(a)\n", 7) is None


def test_far_edit_keeps_entry():
    cache = CompletionCache()
    head = "# header\n" * (PREFIX_SPAN // 9 + 10)
    cache.store(URI, head + BEFORE + AFTER, len(head + BEFORE), "sum(items)", 0, "model")
    edited_head = "# HEADER\n" + head[9:]
    hit = cache.lookup(URI, edited_head + BEFORE + AFTER, len(edited_head + BEFORE))
    assert hit is not None and hit.kind == "exact"


def test_bounds():
    cache = CompletionCache(per_document=3, max_documents=2)
    for number in range(5):
        cache.store(URI, f"x{number} = ", 5, "1", 0, "model")
    assert len(cache) == 3
    cache.store("file:///b.py", "y = ", 4, "2", 0, "model")
    cache.store("file:///c.py", "z = ", 4, "3", 0, "model")
    assert cache.lookup(URI, "x4 = ", 5) is None  # the least recently used document went first
    assert cache.lookup("file:///c.py", "z = ", 4).text == "3"
    cache.forget("file:///c.py")
    assert cache.lookup("file:///c.py", "z = ", 4) is None


def test_lower_effort_entry_misses():
    cache = CompletionCache()
    cache.store(URI, BEFORE + AFTER, len(BEFORE), "sum(items)", 0, "model", "instant")
    assert cache.lookup(URI, BEFORE + AFTER, len(BEFORE), effort="medium") is None
    assert cache.lookup(URI, BEFORE + AFTER, len(BEFORE), effort="instant").text == "sum(items)"
    typed = BEFORE + "sum("
    assert cache.lookup(URI, typed + AFTER, len(typed), effort="medium") is None
    cache.store(URI, BEFORE + AFTER, len(BEFORE), "sum(items)", 0, "model", "high")
    assert cache.lookup(URI, BEFORE + AFTER, len(BEFORE), effort="medium").text == "sum(items)"
