"""The web service's blueprints: thin views that call one service each."""
