"""(being written)"""

from hablo.api.endpoints import ApiRoutes

routes = ApiRoutes("invoices")
