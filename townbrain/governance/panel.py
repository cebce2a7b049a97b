def register_panel():
    pass
