process.env.NO_COLOR = '1'
process.env.COLUMNS = '120'
delete process.env.IDP_API_URL
delete process.env.IDP_PROFILE
delete process.env.IDP_CLIENT_ID
delete process.env.IDP_CLIENT_SECRET
delete process.env.PORT_CLIENT_ID
delete process.env.PORT_CLIENT_SECRET
delete process.env.PORT_API_URL
delete process.env.IDP_TOKEN
delete process.env.IDP_RUN_ID
delete process.env.PORT_RUN_ID
