import asyncio

from services.detector.app import app

if __name__ == "__main__":
    asyncio.run(app.run())
