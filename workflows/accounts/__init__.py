"""WebIR accounts and role holdings as the chains change them: records, effects, the yearly review, role transfers."""
