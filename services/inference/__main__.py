import asyncio

from services.inference.app import app

if __name__ == "__main__":
    asyncio.run(app.run())
