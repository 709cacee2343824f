"""CLV Studio: the entry script. Pages are registered in clv_app.navigation."""

from clv_app import navigation

navigation.run()
