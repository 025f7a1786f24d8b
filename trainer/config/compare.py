"""Two configs compared key by key: a run resumes, and a sweep reuses a run or a sweep
directory, only under the config it was made with, and a refusal names the keys that differ."""


def flat(config):
    """{"section.key": value} of a {section: {key: value}} config (a section that is not a table
    stays one value, under its own name)."""
    out = {}
    for section, table in config.items():
        if isinstance(table, dict):
            out.update({f"{section}.{key}": value for key, value in table.items()})
        else:
            out[section] = table
    return out


def differences(old, new, ignore=(), missing=None):
    """[(key, old value, new value)] of the keys of two flat configs ({"section.key": value})
    whose values differ, in key order, leaving out the keys in `ignore`; a key only one of them
    has shows `missing` for the other. Values differ when they are unequal or of different
    types (1 and 1.0, true and 1): a TOML file keeps the type, so the run it describes does."""
    out = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key, missing), new.get(key, missing)
        if key not in ignore and (a != b or type(a) is not type(b)):
            out.append((key, a, b))
    return out
